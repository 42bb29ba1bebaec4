-- What `stack up` needs to say whether PostgreSQL's shared memory would be better in huge pages.
SELECT current_setting('huge_pages') AS setting,
       current_setting('shared_memory_size') AS shared_memory,
       current_setting('shared_memory_size_in_huge_pages')::int AS pages_needed
