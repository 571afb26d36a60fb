"""The staff web pages: server-rendered Django templates with htmx, one module per area.

Every page goes through ``common.staff_page``: login, role and location scoping happen there,
so a view only reads and calls services.
"""
