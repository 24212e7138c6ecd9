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
  return { ok: true, json };
}

/** Counts down the code's remaining lifetime (the QR and its code die together). */
let countdown;
function showExpiry(expirationTime) {
  clearInterval(countdown);
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
  $("payload").hidden = true;
  const answer = await post("/rp/versioned/device/pendingqr", { activationCode: $("typed").value });
  if (!answer.ok) {
    $("phone-error").textContent = answer.message;
    return;
  }
  $("payload").textContent = JSON.stringify(JSON.parse(answer.json.qrCode), null, 2);
  $("payload").hidden = false;
});

async function refreshTrail() {
  try {
    const res = await fetch("/demo/api/trail");
    if (!res.ok) return;
    const rows = (await res.json()).map((e) => {
      const tr = document.createElement("tr");
      const cells = [
        new Date(e.loggedTimeInUTC).toLocaleTimeString(),
        e.eventName,
        e.isSuccessful ? "yes" : "no",
        e.errorCode ?? "",
        e.additionalDetails?.extras?.fallbackId?.slice(0, 8) ?? "",
      ];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
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
