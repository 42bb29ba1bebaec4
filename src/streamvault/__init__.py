"""streamvault: a streaming warehouse loader (Kafka + Redis -> PostgreSQL staging -> Data Vault 2.0 -> marts)."""

__version__ = "0.1.0"
