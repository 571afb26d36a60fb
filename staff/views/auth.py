"""Staff login and logout: Django's own views, with the staff layout, and the page a locked-out
login gets (django-axes calls ``locked_out`` for the staff login and the admin's alike)."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from omni.models import Role, User


class StaffAuthenticationForm(AuthenticationForm):
    """An integration's account signs in with a token, not here."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.role == Role.CHANNEL and not user.is_superuser:
            raise forms.ValidationError(
                _("This account belongs to a channel integration: it has no staff pages."),
                code="channel_account",
            )


class StaffLoginView(LoginView):
    template_name = "staff/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


class StaffLogoutView(LogoutView):
    next_page = "staff:login"


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """429 with the time to wait, in the page and in ``Retry-After``."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "staff/locked_out.html",
        {"minutes": max(1, math.ceil(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
