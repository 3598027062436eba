// A reference graphql-transport-ws client: the `graphql-ws` library over `ws`.
// Subscribes once and prints every result as a JSON line on stdout; exits after COUNT results
// (0 when the subscription completed normally, 1 on an error or after TIMEOUT_MS).
//
//   URL=ws://127.0.0.1:8000/graphql TOKEN=… QUERY='subscription …' VARIABLES='{…}' COUNT=2 \
//     node subscribe.mjs
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { URL, TOKEN, QUERY, VARIABLES = "{}", COUNT = "1", TIMEOUT_MS = "15000" } = process.env;
const wanted = Number(COUNT);
let received = 0;

const client = createClient({
  url: URL,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: TOKEN ? { authorization: `Bearer ${TOKEN}` } : {},
  on: { connected: () => console.error("connected") },
});

const timer = setTimeout(() => {
  console.error(`timed out after ${received} of ${wanted} results`);
  process.exit(1);
}, Number(TIMEOUT_MS));

const done = (code) => {
  clearTimeout(timer);
  client.dispose();
  process.exit(code);
};

client.subscribe(
  { query: QUERY, variables: JSON.parse(VARIABLES) },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      received += 1;
      if (received >= wanted) done(0);
    },
    error: (error) => {
      const text = error instanceof Error ? error.message : JSON.stringify(error);
      console.error("error", error?.code ? `closed ${error.code} ${error.reason}` : text);
      done(1);
    },
    complete: () => done(received >= wanted ? 0 : 1),
  },
);
