"""The project's URLs with the forecast pages where the project mounts them."""

from django.urls import include, path

from omni.urls import urlpatterns as project

urlpatterns = [path("staff/forecasts/", include("forecasting.urls")), *project]
