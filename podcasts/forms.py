from confusable_homoglyphs import confusables
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from podcasts.subscribers import username_skeleton


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used for password resets and the emails you opt into.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_username(self) -> str:
        username = super().clean_username()
        # "admіn" with a Cyrillic і reads as "admin": refuse names mixing scripts with
        # look-alike letters (Unicode TR39 data), and any name whose Latin look-alike is taken.
        if confusables.is_dangerous(username):
            raise forms.ValidationError("Use letters from one alphabet: this name mixes look-alike letters from several.")
        skeleton = username_skeleton(username)
        if skeleton != username.casefold() and get_user_model().objects.filter(username__iexact=skeleton).exists():
            raise forms.ValidationError("This name looks like an existing user's name. Choose another.")
        return username

    def clean_email(self) -> str:
        # Whether an account uses this address is never said here (the sign-up answer
        # is the same either way; the owner of the address gets an email about it).
        return self.cleaned_data["email"].strip()


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
