-- The role that holds a principal's privileges (granted by migration 0012; streamvault_dashboard by 0005).
CREATE ROLE {group} NOLOGIN
