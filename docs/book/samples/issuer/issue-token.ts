// What an issuer's back end does, in TypeScript for Node 20 with no dependencies: get an access
// token, register a card, then ask for a PIN-control token. The card's JWE (ECDH-ES + A256GCM to
// the service's key) is made with the platform's WebCrypto; a JOSE library does the same.
//
// Run it with the same environment variables as issue-token.sh. It prints the service's answer
// ({"token", "expiresIn", "url"}); a real back end hands the url to its app or page instead, and
// never logs it (the token is in its #token= fragment).

export type Action = "VIEW_PIN" | "SET_PIN";

export interface Issuer {
  /** The service's public URL, e.g. https://pin.bank.example */
  baseUrl: string;
  issuerId: string;
  clientId: string;
  /** From your secret store; never logged, never in a URL. */
  clientSecret: string;
}

export interface PinControlTokenRequest {
  cardId: string;
  action: Action;
  /** The origin of the page that frames the widget; leave it out for a mobile webview. */
  parentOrigin?: string;
  /** The cardholder's language, e.g. "fi". */
  language?: string;
  /** 1 to 300; the widget hides a revealed PIN after this many seconds (30 when left out). */
  hideAfterSeconds?: number;
  allowCopy?: boolean;
}

export interface PinControlToken {
  token: string;
  expiresIn: number;
  url: string;
}

interface AccessToken {
  access_token: string;
  token_type: string;
  expires_in: number;
}

interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid?: string;
}

/** A refusal: the status, the error body's code, and the correlation id to quote to support. */
export class PinframeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly correlationId: string | null,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(issuer: Issuer, path: string, init: RequestInit): Promise<T | null> {
  const response = await fetch(issuer.baseUrl + path, init);
  const correlationId = response.headers.get("x-correlation-id");
  if (!response.ok) {
    // Both error shapes: {"error", "message"} and, at /oauth2/token, {"error", "error_description"}.
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const code = typeof body.error === "string" ? body.error : "unknown";
    const text = body.message ?? body.error_description ?? response.statusText;
    throw new PinframeError(response.status, code, correlationId, `${path}: ${response.status} ${code}: ${String(text)}`);
  }
  return response.status === 204 ? null : ((await response.json()) as T);
}

function basic(issuer: Issuer): string {
  return "Basic " + btoa(`${issuer.clientId}:${issuer.clientSecret}`);
}

/** POST /oauth2/token. The token lasts expires_in seconds (900): reuse it until then. */
export async function getAccessToken(issuer: Issuer): Promise<string> {
  const answer = await call<AccessToken>(issuer, "/oauth2/token", {
    method: "POST",
    headers: { authorization: basic(issuer), "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  if (answer === null) throw new Error("no access token in the answer");
  return answer.access_token;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function uint32(value: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** A compact JWE, alg ECDH-ES, enc A256GCM, of plaintext to a P-256 public JWK (RFC 7516, 7518). */
export async function encryptJwe(recipient: PublicJwk, plaintext: string): Promise<string> {
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  const { kty, crv, x, y } = recipient;
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, ecdh, false, []);
  const ephemeral = (await crypto.subtle.generateKey(ecdh, true, ["deriveBits"])) as CryptoKeyPair;
  const epk = await crypto.subtle.exportKey("jwk", ephemeral.publicKey);
  const z = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: publicKey }, ephemeral.privateKey, 256),
  );
  // Concat KDF (RFC 7518 section 4.6.2): one SHA-256 round gives the 256-bit key. No apu, no apv.
  const algorithmId = new TextEncoder().encode("A256GCM");
  const kdfInput = concat(uint32(1), z, uint32(algorithmId.length), algorithmId, uint32(0), uint32(0), uint32(256));
  const cek = await crypto.subtle.importKey("raw", await crypto.subtle.digest("SHA-256", kdfInput), "AES-GCM", false, [
    "encrypt",
  ]);
  const header = {
    alg: "ECDH-ES",
    enc: "A256GCM",
    ...(recipient.kid === undefined ? {} : { kid: recipient.kid }),
    epk: { kty: epk.kty, crv: epk.crv, x: epk.x, y: epk.y },
  };
  const protectedHeader = base64url(new TextEncoder().encode(JSON.stringify(header)));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(protectedHeader), tagLength: 128 },
      cek,
      new TextEncoder().encode(plaintext),
    ),
  );
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  return [protectedHeader, "", base64url(iv), base64url(ciphertext), base64url(tag)].join(".");
}

/** PUT /issuers/{issuerId}/consumers/{consumerId}/cards: registers the consumer and the card. */
export async function registerCard(
  issuer: Issuer,
  accessToken: string,
  card: { consumerId: string; cardId: string; pan: string; exp: string },
): Promise<void> {
  const jwks = await call<{ keys: PublicJwk[] }>(issuer, "/.well-known/jwks.json", { method: "GET" });
  const serviceKey = jwks?.keys[0];
  if (serviceKey === undefined) throw new Error("the service publishes no key");
  const encryptedData = await encryptJwe(serviceKey, JSON.stringify({ pan: card.pan, exp: card.exp }));
  const path = `/issuers/${issuer.issuerId}/consumers/${encodeURIComponent(card.consumerId)}/cards`;
  await call<null>(issuer, path, {
    method: "PUT",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ cards: [{ cardId: card.cardId, encryptedData }] }),
  });
}

/** POST /api/v1/pin-control/tokens, with the client credentials (HTTP Basic). */
export async function requestPinControlToken(
  issuer: Issuer,
  request: PinControlTokenRequest,
): Promise<PinControlToken> {
  const answer = await call<PinControlToken>(issuer, "/api/v1/pin-control/tokens", {
    method: "POST",
    headers: { authorization: basic(issuer), "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  if (answer === null) throw new Error("no token in the answer");
  return answer;
}

// Node's process object, typed here so that the sample needs no @types/node.
const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;

function required(name: string): string {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`set ${name}`);
  return value;
}

async function main(): Promise<void> {
  const clientId = required("CLIENT_ID");
  const issuer: Issuer = {
    baseUrl: required("PINFRAME_URL"),
    issuerId: env.ISSUER_ID ?? clientId,
    clientId,
    clientSecret: required("CLIENT_SECRET"),
  };
  const cardId = required("CARD_ID");
  const accessToken = await getAccessToken(issuer);
  await registerCard(issuer, accessToken, {
    consumerId: required("CONSUMER_ID"),
    cardId,
    pan: required("PAN"),
    exp: required("EXP"),
  });
  const action: Action = env.ACTION === "SET_PIN" ? "SET_PIN" : "VIEW_PIN";
  const answer = await requestPinControlToken(issuer, {
    cardId,
    action,
    ...(env.PARENT_ORIGIN ? { parentOrigin: env.PARENT_ORIGIN } : {}),
    ...(env.LANGUAGE ? { language: env.LANGUAGE } : {}),
  });
  console.log(JSON.stringify(answer));
}

await main();
