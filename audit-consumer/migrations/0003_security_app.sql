-- Events of no RP application used to be stored with rpAppId NULL; they now belong to the security
-- application (QR_FALLBACK_SECURITY_APP, default QRFallbackSecurity), which per-application SIEM
-- pollers list and search. A deployment that set another id should run this with its own.
UPDATE audit_events
  SET rpAppId = 'QRFallbackSecurity', body = json_set(body, '$.rpAppId', 'QRFallbackSecurity')
  WHERE rpAppId IS NULL;
