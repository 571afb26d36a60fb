"""The project's URLs (the staff pages under ``staff/``, the forecasts the layout links to) with
the allocation pages where the project mounts them, unless ``omni/urls.py`` mounts them already."""

from django.urls import URLResolver, include, path

from omni.urls import urlpatterns as project

mounted = any(isinstance(p, URLResolver) and p.namespace == "allocation" for p in project)
urlpatterns = (
    project
    if mounted
    else [path("staff/allocations/", include("inventory.allocation.urls")), *project]
)
