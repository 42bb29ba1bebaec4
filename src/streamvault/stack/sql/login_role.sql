-- A principal's login on the secure stack: it may do what its group role may, nothing more.
CREATE ROLE {login} LOGIN PASSWORD {password} IN ROLE {group}
