"""Templates and slot fillers for customer messages, one module per language.

`{slot}` names a filler list of the same language; fillers may hold slots
themselves. `last4`, `amount`, `txn` and `n` are drawn at random instead.
"""
