"""The GraphQL transport: types, resolvers and the GraphQL-over-HTTP view.

Resolvers parse arguments, call one service function and serialize its result; every rule
lives in the services and the authorization layer.
"""
