"""Live changes for GraphQL subscriptions: what was committed, fanned out to subscribers.

    request ─► services write DomainEvent rows ─► COMMIT ─► outbox.relay_commits
                                                               │ Change (type + ids only)
                                                               ▼
                                      Broker: InProcessBroker (one process)
                                              RedisBroker (pub/sub across replicas)
                                                               │
                                                               ▼
                                      Hub: per-process topics ─► Inbox of each subscription
                                                               │
                                                               ▼
                                      streams: re-read through the services, with the
                                      subscriber's own principal, in a short session

Messages carry only types and ids, never data: every subscriber reads the current state
itself, so it sees exactly what the same query would show it.
"""
