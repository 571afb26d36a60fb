"""Staff login and logout: Django's own views, with the staff layout."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
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
