"""The OAuth 2 authorization server: clients, the authorization and token endpoints, and the
login and consent pages.

    models     clients, authorization codes, remembered consents
    service    client registration and management (chapter admins, network admins)
    rules      what a client registration must respect; how its secret is stored
    server     the Authlib adapter: synchronous, works on preloaded records, does no I/O
    records    the records Authlib reads and the decisions it writes (the `Exchange`)
    wrappers   Authlib's request and response as plain objects
    exchange   the asynchronous half: loads what Authlib reads, applies what it decided
    endpoints  token, revocation, introspection and metadata routes
    authorize  the authorization endpoint; pages, browser, consents and throttle serve it
"""
