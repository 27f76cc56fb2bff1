from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used for password resets and the emails you opt into.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


class FeedSubmissionForm(forms.Form):
    feed_url = forms.URLField(
        label="Feed URL",
        max_length=2000,
        assume_scheme="https",
        help_text="The podcast's RSS feed. A curator reviews it before it is added.",
    )

    def clean_feed_url(self) -> str:
        url = self.cleaned_data["feed_url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http and https feeds can be added.")
        return url


class SubscriptionForm(forms.Form):
    notify_new_episodes = forms.BooleanField(required=False, label="Email me new episodes")


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=200, required=False)
