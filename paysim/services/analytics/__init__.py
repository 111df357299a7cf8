"""The analytics service: payment counts, rates and revenue, from the catch-all topic."""
