"""The tips plugin's settings: ``[plugins.tips]`` and the ``[webhooks.*]`` provider secrets.

``[webhooks]`` is a free-form table in the core (every provider plugin owns its own part),
so the tables this plugin reads are validated here, at startup, with messages that name
the key, exactly like the core's own settings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from limelight import Money, PluginConfig
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

Period = Literal["stream", "month", "all"]


def _currency(value: str, where: str, *, allow_bits: bool = False) -> str:
    code = value.strip().upper()
    if not code:
        return ""
    try:
        Money(0, code)
    except ValueError:
        raise ValueError(
            f"{where}: unknown currency {value!r} (expected an ISO 4217 code)"
        ) from None
    if code == "BITS" and not allow_bits:
        raise ValueError(f"{where}: BITS is not a currency you can set here")
    return code


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{where}: {value!r} must be a number >= 0")
    return number


class TipsConfig(PluginConfig):
    """``[plugins.tips]`` — every key is documented in config.example.toml and docs/tips.md."""

    # -- money --------------------------------------------------------------------------
    #: Currency the leaderboard, the goal and amount tiers are counted in; empty = none
    #: (then the leaderboard ranks the most used currency and ignores the others).
    base_currency: str = ""
    #: Units of base_currency for one unit of each other currency: {EUR = "1.08"}.
    rates: dict[str, Decimal] = {}
    #: Value of one Twitch bit, in bits_currency (Twitch pays streamers about 0.01 USD).
    bit_value: Decimal = Decimal("0.01")
    bits_currency: str = "USD"

    # -- attribution --------------------------------------------------------------------
    #: A Stripe Payment Link (https://buy.stripe.com/...) that !tip links lead to.
    stripe_payment_link: str = ""
    #: Your Ko-fi page (https://ko-fi.com/<you>); !tip links show it with the viewer's code.
    kofi_page: str = ""
    #: Minutes a personal tip link stays valid.
    link_ttl_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    #: Days a viewer's tip code still attributes a tip (Ko-fi messages arrive later).
    code_ttl_days: int = Field(30, ge=1, le=365)
    #: Key that signs tip links; empty = derived from [security] admin_token.
    link_secret: str = ""

    # -- reactions ----------------------------------------------------------------------
    alerts_overlay: str = "alerts"
    leaderboard_overlay: str = "leaderboard"
    goal_overlay: str = "goal"
    #: Thank-you in chat; {name}, {amount}, {message} are filled in.
    thanks: bool = True
    thanks_template: str = "Thank you {name} for the {amount} tip!"
    #: Used when several tips land within thanks_window seconds; {names}, {count}, {amounts}.
    thanks_burst_template: str = "Thank you {names} for {count} tips!"
    thanks_window: float = Field(2.0, ge=0, le=60)
    #: How many supporters the leaderboard overlay and !top show.
    leaderboard_size: int = Field(5, ge=1, le=50)
    #: Which window !top reports.
    top_period: Period = "stream"
    #: A tip goal for the goal overlay (in base_currency, or the main currency).
    goal_title: str = ""
    goal_target: str = ""
    goal_period: Period = "stream"

    # -- moderation and privacy -----------------------------------------------------------
    #: Words (case-insensitive, whole words) that keep a message off the stream.
    blocked_words: list[str] = []
    #: Replace links in messages with "[link]".
    block_links: bool = True
    #: Messages of tips below this amount are not shown (base_currency, else the tip's own).
    min_message_amount: str = "0"
    max_message_length: int = Field(255, ge=0, le=2000)
    #: Hold messages for approval in the dashboard before they reach the overlay.
    approval: bool = False
    #: Read messages aloud in the browser source (speech synthesis); off by default.
    tts: bool = False
    tts_min_amount: str = "0"

    @field_validator("base_currency", "bits_currency")
    @classmethod
    def _check_currency(cls, value: str, info: ValidationInfo) -> str:
        return _currency(value, info.field_name or "")

    @field_validator("rates", mode="before")
    @classmethod
    def _check_rates(cls, value: Any) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise ValueError('rates must be a table such as {EUR = "1.08"}')
        out: dict[str, Decimal] = {}
        for code, rate in value.items():
            key = _currency(str(code), f"rates.{code}")
            number = _decimal(rate, f"rates.{code}")
            if number == 0:
                raise ValueError(f"rates.{code}: a rate must be greater than zero")
            out[key] = number
        return out

    @field_validator("bit_value", mode="before")
    @classmethod
    def _check_bit_value(cls, value: Any) -> Decimal:
        return _decimal(value, "bit_value")

    @field_validator("min_message_amount", "tts_min_amount", "goal_target")
    @classmethod
    def _check_amount(cls, value: str, info: ValidationInfo) -> str:
        if value.strip():
            _decimal(value, info.field_name or "")
        return value.strip()

    @field_validator("stripe_payment_link", "kofi_page")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        if value and not value.startswith("https://"):
            raise ValueError(f"{info.field_name} must be an https:// address")
        return value

    @model_validator(mode="after")
    def _check_goal(self) -> TipsConfig:
        if self.goal_target and not self.goal_title:
            self.goal_title = "Tip goal"
        return self


# -- [webhooks.<provider>] --------------------------------------------------------------------


class WebhookTable(PluginConfig):
    """A ``[webhooks.<provider>]`` table (unknown keys refused, like every config table)."""


class KofiWebhook(WebhookTable):
    #: Ko-fi > Settings > API > Webhooks > Advanced: the verification token.
    verification_token: str = Field(min_length=8)


class StripeWebhook(WebhookTable):
    #: The endpoint's signing secret (whsec_...), from the Stripe dashboard or `stripe listen`.
    secret: str = Field(min_length=8)


class FourthwallWebhook(WebhookTable):
    #: Fourthwall > Settings > For developers > Webhooks: the shop's secret key (the same
    #: one the shop plugin's ``[webhooks.fourthwall]`` holds).
    secret: str = Field(min_length=8)


class GenericWebhook(WebhookTable):
    #: Shared HMAC-SHA256 secret of Limelight's scheme (X-Limelight-Signature); generate
    #: one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
    secret: str | None = Field(None, min_length=16)
    #: Secret of the Standard Webhooks scheme (webhook-signature): ``whsec_`` and base64,
    #: as the sending service shows it.
    standard_secret: str = ""
    #: Seconds a signed timestamp stays acceptable (Limelight's scheme; Standard Webhooks
    #: deliveries have that package's fixed 300 s).
    tolerance: int = Field(300, ge=30, le=3600)

    @field_validator("standard_secret")
    @classmethod
    def _check_standard_secret(cls, value: str) -> str:
        if not value:
            return value
        from standardwebhooks import Webhook

        try:
            if not value.startswith("whsec_"):
                raise ValueError
            Webhook(value)
        except Exception:
            # Never echo the value: it is a secret.
            raise ValueError("must be whsec_ followed by base64, as the sender shows it") from None
        return value

    @model_validator(mode="after")
    def _check_some_secret(self) -> GenericWebhook:
        if not (self.secret or self.standard_secret):
            raise ValueError(
                "set secret (Limelight's signature), standard_secret (Standard Webhooks), or both"
            )
        return self


WEBHOOK_TABLES: dict[str, type[WebhookTable]] = {
    "kofi": KofiWebhook,
    "stripe": StripeWebhook,
    "generic": GenericWebhook,
    "fourthwall-donations": FourthwallWebhook,
}


class WebhookConfigError(ValueError):
    """A ``[webhooks.*]`` table this plugin reads is invalid; the message names the key."""


def load_webhooks(raw: dict[str, dict[str, Any]]) -> dict[str, WebhookTable]:
    """Validate the provider tables present in ``[webhooks]``; absent = provider off."""
    out: dict[str, WebhookTable] = {}
    problems: list[str] = []
    for name in WEBHOOK_TABLES:
        table = raw.get(name)
        if table is None:
            continue
        found = table_problems(name, table)
        if found:
            problems.extend(found)
        else:
            out[name] = WEBHOOK_TABLES[name].model_validate(table)
    if problems:
        raise WebhookConfigError("; ".join(problems))
    return out


def table_problems(name: str, table: Any) -> list[str]:
    """What is wrong with ``[webhooks.<name>]``, each naming the key (never the value)."""
    if not isinstance(table, dict):
        return [f"webhooks.{name}: must be a table"]
    try:
        WEBHOOK_TABLES[name].model_validate(table)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in ("webhooks", name, *err["loc"]))
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling against config.example.toml)"
            elif err["type"] == "missing":
                msg = "required"
            else:
                msg = err["msg"]  # never echo the value: these are secrets
            problems.append(f"{key}: {msg}")
        return problems
    return []
