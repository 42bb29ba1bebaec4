-- The newest effective time seen per satellite key, including versions that added no row because
-- their attributes were unchanged. Without it a late, older version could become "current".
CREATE TABLE dds.srv_sat_watermarks (
    sat          varchar(64) NOT NULL,
    hk           uuid        NOT NULL,
    effective_dt timestamp   NOT NULL,
    PRIMARY KEY (sat, hk)
);
