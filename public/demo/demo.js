// The demo page: workstation and phone panels calling the real endpoints, and the audit trail.
const $ = (id) => document.getElementById(id);
/**
 * POSTs JSON and reads the answer; network failures and answers that are not JSON (a proxy's error
 * page, say) become an error the panel can show, instead of an exception nobody sees.
 */
async function post(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, message: "The service could not be reached. Check the connection and try again." };
  }
  let json;
  try {
    json = await res.json();
  } catch {
    return { ok: false, message: `Unexpected answer from the service (HTTP ${res.status}, not JSON).` };
  }
  if (!res.ok) {
    const message = json?.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`;
    return { ok: false, message };
  }
  return { ok: true, json, traceId: res.headers.get("X-Demo-Trace-Id") ?? "" };
}

/**
 * Counts down the code's remaining lifetime (the QR and its code die together), until the code is
 * used: the phone panel says so at once, and the trail's poll sees a lookup of it from anywhere else.
 */
let countdown;
/** The code shown, and its issuance's request id (the trail's traceId) once known. */
let shown = { code: "", traceId: "", fallbackId: "" };
function markUsed() {
  clearInterval(countdown);
  $("expires").textContent = "Used: the phone has this QR's payload. Create a new QR for another.";
  $("expires").className = "used";
  $("qr").classList.add("used");
}
function showExpiry(expirationTime) {
  clearInterval(countdown);
  $("expires").className = "";
  $("qr").classList.remove("used");
  const tick = () => {
    const left = Math.max(0, Math.round((expirationTime - Date.now()) / 1000));
    $("expires").textContent =
      left > 0
        ? `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`
        : "Expired: create a new QR";
    if (left === 0) clearInterval(countdown);
  };
  tick();
  $("expires").hidden = false;
  countdown = setInterval(tick, 1000);
}

function showQr(json) {
  const created = json.response ?? json; // authentication answers wrap the QR in `response`
  $("qr-image").src = `data:image/svg+xml;base64,${btoa(created.qrImageSvg)}`;
  $("qr").hidden = false;
  return json.qrFallbackActivationCode ?? json.activationCode;
}

async function createQr(includeQRFallbackCode) {
  $("ws-error").textContent = "";
  const answer = await post("/demo/api/qr", { kind: $("kind").value, includeQRFallbackCode });
  if (!answer.ok) {
    $("ws-error").textContent = answer.message;
    return;
  }
  const json = answer.json;
  const code = showQr(json);
  shown = { code: code ?? "", traceId: answer.traceId, fallbackId: "" };
  showExpiry((json.response ?? json).expirationTime);
  $("show-code").hidden = includeQRFallbackCode;
  $("code-box").hidden = !code;
  $("code").textContent = code ?? "";
}

$("create").addEventListener("click", () => createQr(false));
// Cache on delivery: the code is only requested (and the payload cached) when the user asks for it.
$("show-code").addEventListener("click", () => createQr(true));

$("entry").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("phone-error").textContent = "";
  $("payload-view").hidden = true;
  const answer = await post("/rp/versioned/device/pendingqr", { activationCode: $("typed").value });
  if (!answer.ok) {
    $("phone-error").textContent = answer.message;
    return;
  }
  // What the app would show: what the QR is for, where it goes, until when; the JSON on demand.
  const qr = JSON.parse(answer.json.qrCode);
  $("payload-kind").textContent =
    qr.type === "AUTHENTICATION" ? "Approve a login (authentication)" : "Register this phone (registration)";
  $("payload-app").textContent = qr.rpAppId;
  $("payload-url").textContent = qr.rpUrl;
  $("payload-expiry").replaceChildren(when(qr.expiresAt));
  $("payload").textContent = JSON.stringify(qr, null, 2);
  $("payload-view").hidden = false;
  if (qr.activationCode === shown.code) markUsed();
});

const exact = (ms) => `${new Date(ms).toLocaleString()} (${new Date(ms).toISOString()})`;
/** "12 s ago", "in 3 min": readable at a glance, the exact time in the title. */
function when(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : `${Math.round(a / 3600)} h`;
  const node = document.createElement("time");
  node.dateTime = new Date(ms).toISOString();
  node.title = exact(ms);
  node.textContent = s >= 0 ? `${text} ago` : `in ${text}`;
  return node;
}

/** Marks the shown code used once the trail has a served lookup of it (from this page or a real phone). */
function watchForUse(events) {
  if (!shown.code || $("expires").className === "used") return;
  shown.fallbackId ||=
    events.find((e) => e.eventName === "QR_FALLBACK_CODE_ISSUED" && e.traceId === shown.traceId)?.additionalDetails
      ?.extras?.fallbackId ?? "";
  const used = events.some(
    (e) =>
      e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED" &&
      e.isSuccessful &&
      shown.fallbackId &&
      e.additionalDetails?.extras?.fallbackId === shown.fallbackId,
  );
  if (used) markUsed();
}

async function refreshTrail() {
  try {
    const res = await fetch("/demo/api/trail");
    if (!res.ok) return;
    const events = await res.json();
    watchForUse(events);
    // Open details stay open across the refresh.
    const open = new Set([...document.querySelectorAll("#trail details[open]")].map((d) => d.dataset.id));
    const rows = events.map((e) => {
      const tr = document.createElement("tr");
      const details = document.createElement("details");
      details.dataset.id = e.id;
      details.open = open.has(e.id);
      const summary = document.createElement("summary");
      summary.textContent = `fallbackId ${e.additionalDetails?.extras?.fallbackId?.slice(0, 8) ?? "none"}`;
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(e, null, 2);
      details.append(summary, pre);
      const cells = [
        ["logged", when(e.loggedTimeInUTC)],
        ["event", e.eventName.replace(/^QR_FALLBACK_/, "")],
        ["ok", e.isSuccessful ? "yes" : "no"],
        ["error", e.errorCode ?? ""],
        ["detail", details],
      ];
      for (const [label, content] of cells) {
        const td = document.createElement("td");
        td.dataset.label = label;
        if (content !== "") td.append(content);
        tr.append(td);
      }
      tr.children[2].className = e.isSuccessful ? "ok" : "fail";
      tr.dataset.event = e.eventName;
      return tr;
    });
    $("trail").replaceChildren(...rows);
  } finally {
    setTimeout(refreshTrail, 1000);
  }
}
refreshTrail();
