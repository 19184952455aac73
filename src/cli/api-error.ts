/** An API request the server refused or could not carry out (401, 403, 404, 409, 5xx). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
