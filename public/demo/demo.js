// The demo page: workstation and phone panels calling the real endpoints, and the audit trail.
const $ = (id) => document.getElementById(id);
const post = (url, body) =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function showQr(json) {
  const created = json.response ?? json; // authentication answers wrap the QR in `response`
  $("qr-image").src = `data:image/svg+xml;base64,${btoa(created.qrImageSvg)}`;
  $("qr").hidden = false;
  return json.qrFallbackActivationCode ?? json.activationCode;
}

async function createQr(includeQRFallbackCode) {
  $("ws-error").textContent = "";
  const res = await post("/demo/api/qr", { kind: $("kind").value, includeQRFallbackCode });
  const json = await res.json();
  if (!res.ok) {
    $("ws-error").textContent = json.error?.message ?? `HTTP ${res.status}`;
    return;
  }
  const code = showQr(json);
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
  const res = await post("/rp/versioned/device/pendingqr", { activationCode: $("typed").value });
  const json = await res.json();
  if (!res.ok) {
    $("phone-error").textContent = `${json.error.code}: ${json.error.message}`;
    return;
  }
  $("payload").textContent = JSON.stringify(JSON.parse(json.qrCode), null, 2);
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
