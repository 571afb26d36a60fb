"""Settings packages: ``base`` (everything, from the environment) and ``production``."""
