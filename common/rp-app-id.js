// An RP application id, as every endpoint and the token CLI accept it (one rule, docs/api.md): the
// vendor's ids are letters and digits; `_ . : -` are allowed besides, nothing that is markup or
// control text in a console, a log line or the trail.

/** Letters, digits and `_ . : -`, 1 to 128 of them. */
export const RP_APP_ID = /^[\w.:-]{1,128}$/;
export const RP_APP_ID_RULE = "letters, digits, _ . : - (1 to 128)";
