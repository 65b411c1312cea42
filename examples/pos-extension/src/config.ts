// Your backend (examples/posbackend). POS only fetches over HTTPS, and the
// backend must allow the extension origins (its default). A fetch to the
// app's own domain gets the Authorization header from POS itself; the
// client module sets it anyway, so the backend may live elsewhere.
export const BACKEND_URL = 'https://pos-backend.example.com';
