-- `streamvault reprocess-parked`: every parked order is due now, whatever its back-off.
UPDATE stg.parked_orders SET next_attempt_at = now() WHERE next_attempt_at > now();
