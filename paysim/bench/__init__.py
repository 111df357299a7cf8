"""``paysim bench``: the figures of issue 10, measured in one run on the real stack.

Each module is one figure or one part of the run: plan-shaped events and their topic
(:mod:`.plan_events`), the raw Kafka baseline (:mod:`.raw_relay`), the order service's
hot path (:mod:`.hot_path`), the stack's processes (:mod:`.stack_processes`), the
sustained saga rate (:mod:`.sustained`), the lag drain (:mod:`.lag_drain`), medians and
the history file (:mod:`.figures`), the whole run (:mod:`.runner`) and its table
(:mod:`.table`). Figures only: nothing here asserts a threshold.
"""
