-- What `stack up` needs to say whether PostgreSQL's shared memory would be better in huge pages. The size from
-- pg_settings, in its unit (MB): SHOW prints the largest unit that divides it ("6GB").
SELECT current_setting('huge_pages') AS setting,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'shared_memory_size') AS shared_memory_mb,
       current_setting('shared_memory_size_in_huge_pages')::int AS pages_needed
