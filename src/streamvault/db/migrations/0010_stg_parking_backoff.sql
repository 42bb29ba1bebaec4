-- Parked orders are tried again on a back-off of their own (never the whole table each round) and give
-- up after a set age, to the dead-letter topic (docs/guarantees.md).
ALTER TABLE stg.parked_orders
    DROP COLUMN last_attempt_at,
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();

-- An idle round reads only the first rows of these: its work is bounded whatever the table's size.
CREATE INDEX parked_orders_next_attempt_at_idx ON stg.parked_orders (next_attempt_at);
CREATE INDEX parked_orders_parked_at_idx ON stg.parked_orders (parked_at);

-- How many parked orders expired to the dead-letter topic, for `streamvault status`: one row.
CREATE TABLE stg.parked_expired (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    orders bigint  NOT NULL DEFAULT 0
);
INSERT INTO stg.parked_expired DEFAULT VALUES;
