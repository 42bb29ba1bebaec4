-- Rows in flight between two layers at the snapshot: only then does verify wait for the services.
SELECT (SELECT count(*) FROM verify_orders WHERE stg_dds = 'in flight')
     + (SELECT count(*) FROM verify_contributions WHERE verdict = 'in flight');
