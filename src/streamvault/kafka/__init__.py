"""Kafka clients configured the one way every service uses them."""
