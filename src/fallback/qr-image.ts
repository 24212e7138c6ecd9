import { renderSVG } from "uqr";

/** The QR payload as an SVG image (uqr), for clients that have no QR encoder of their own. */
export function qrImageSvg(qrCode: string): string {
  return renderSVG(qrCode, { ecc: "M", border: 2 });
}
