// The Meeboter API client: openapi-fetch typed by the generated `schema.ts` (openapi-typescript).
// Regenerate `schema.ts` with `scripts/clients` from the repository root.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";

export type { paths, components };
export type Schemas = components["schemas"];

/** A client for one server and API key; every path, body and answer is typed. */
export function createMeeboterClient(baseUrl: string, apiKey: string) {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/$/, ""),
    headers: { Authorization: `Bearer ${apiKey}` },
  });
}
