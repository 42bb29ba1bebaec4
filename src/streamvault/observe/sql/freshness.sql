-- Each layer's freshness for `streamvault status`: the newest source publish time it has committed
-- (runtime/freshness.py) and how far behind now that is; no row yet: NULL.
SELECT layer, data_as_of, extract(epoch FROM clock_timestamp() - data_as_of)::float8 AS behind_s
FROM (SELECT 'stg' AS layer, max(source_published_at) AS data_as_of FROM stg.srv_freshness
      UNION ALL
      SELECT 'dds', max(source_published_at) FROM dds.srv_freshness
      UNION ALL
      SELECT 'cdm', max(source_published_at) FROM cdm.srv_freshness) AS layers;
