"""OBS Studio control over obs-websocket 5: named connections, queued actions, rules.

Import what you need from the submodules; this package stays import-light because
:mod:`limelight.config` imports :mod:`limelight.obs.rules` while it loads.
"""
