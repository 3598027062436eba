"""Operations: rate limits, structured logs, Prometheus metrics and W3C trace context."""
