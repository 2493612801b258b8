"""The Brevo sandbox's routes, one module per group of Brevo's API reference."""
