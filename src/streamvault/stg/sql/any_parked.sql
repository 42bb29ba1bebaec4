-- Usually nothing waits: then there is nothing to unpark, and the forwarded versions need no COPY.
SELECT EXISTS (SELECT FROM stg.parked_orders);
