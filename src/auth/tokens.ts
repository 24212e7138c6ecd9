/** Minting and hashing of API tokens: one implementation (common/api-tokens.js), shared with `npm run token`. */
export { hashToken, mintToken as createToken } from "../../common/api-tokens.js";
