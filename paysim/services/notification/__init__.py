"""The notification service: the emails, SMS and pushes a customer would get, recorded once."""
