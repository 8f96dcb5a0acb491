# ruff: noqa: B018, F821
"""Names ``vulture core/limelight plugins`` reports that are used, only not by a call it sees.

Run: ``vulture core/limelight plugins tests/vulture_whitelist.py --min-confidence 60``.
Every entry is used by a name the framework looks up (pluggy hooks, pydantic validators and
settings, tortoise fields and ``Meta``, migrations, pytest fixtures, handlers found with
``getattr``), or is public API for plugin authors and their tests (documented in ``docs/``
and used by this suite). A definition that is none of these is dead: delete it instead.
"""

# -- pluggy: hook specifications and the built-in plugins' hook implementations ------------
register_config_model
register_commands
register_routes
register_overlays
register_models
register_jobs
register_webhook_providers
register_chat_connectors
register_badges
register_event_types
register_doctor_checks
register_cli_commands

# -- pydantic: settings and validators (called by the model) --------------------------------
model_config
_._check  # obs.rules.ObsRule
_._check_names  # config
_._amount_needs_currency  # config
_._only_tables_are_overlays  # config
_._check_currency  # limelight_tips.config
_._check_rates
_._check_bit_value
_._check_amount
_._check_url
_._check_goal

# -- events: fields plugins read (docs/events.md), and the class registry ------------------
__init_subclass__  # events.Event: each event class registers its type
gift_bomb  # events.Subscription
unit  # events.Milestone
invoked_as  # commands.Call: which name or alias the viewer typed

# -- tortoise: columns, Meta and migrations --------------------------------------------------
Meta
unique_together
initial
dependencies
display_name
identities
last_seen
dedupe_id
received_at
shown_at
updated_at
decided_at

# -- pytest fixtures shipped by limelight.testing -------------------------------------------
limelight
limelight_settings
_.of_type  # testing.Recorder

# -- handlers looked up by name (limelight_twitch.mapping: "_on_" + IRC command, EventSub) --
_._on_privmsg
_._on_usernotice
_._on_clearchat
_._on_clearmsg
_._channel_cheer
_._channel_subscribe
_._channel_subscription_message
_._channel_subscription_gift
_._channel_charity_campaign_donate
_._channel_charity_campaign_progress

# -- public API for plugins and their tests (docs/, used by this suite) ---------------------
_.__doc__  # commands.config_commands sets the text command's help
_.with_options  # commands.Command: a cooldown from the plugin's config
_.award  # badges.BadgeBook
_.revoke
_.transaction  # db.Database
_.allow  # gating.Verdict
_.run_at  # scheduler.PluginScheduler
_.identities  # viewers.Viewers
signed_headers  # webhooks: what a test sends to the generic webhook
_.sleeping  # chat.ManualClock (exported for tests of rate limits)
_.advance
_.detach  # chat.ChatService
_.set_clock
_.clear_state  # overlays.OverlayService
_.disconnect_all
_.finished  # obs.actions.ActionHandle
_.current_scene  # obs.service.ObsService
_.is_streaming
_.is_connected
_.switch_scene
_.show_source
_.hide_source
_.set_text
_.set_source_settings
_.restart_media
_.enable_filter
_.disable_filter
_.add_listener
