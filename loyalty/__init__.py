"""Loyalty: members and their card codes, campaigns, signed coupons, redemptions online and at
the counter, and each campaign's effect measured against its holdout group."""
