"""Mock vendor APIs (HubSpot, Salesforce, Google Ads, LinkedIn Ads, NetSuite) over one fake business.

The connectors are written against the vendors' real wire shapes; these mocks speak the same
shapes over real HTTP so the connectors, loader and mart can be tested end to end without
vendor accounts. The business behind them is generated deterministically from a seed, a scale
and an as-of date (`business`), and moves forward in time on request (`/_admin/advance`).

Nothing heavy is imported here: the server (`server.main`) and the app (`app.create_app`)
import FastAPI and the generator only when used.
"""
