"""The services of the plan: payment, order, delivery, notification, analytics."""
