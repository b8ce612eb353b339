/**
 * How many bytes of upstream answers one query or mutation may still gather (its failed-record
 * pages above all). Resolvers pass `remaining` as the largest body they will read, then charge
 * what they read.
 */
export class ResponseBudget {
  #remaining: number;

  constructor(maxBytes: number) {
    this.#remaining = maxBytes;
  }

  get remaining(): number {
    return this.#remaining;
  }

  charge(bytes: number): void {
    this.#remaining = Math.max(0, this.#remaining - bytes);
  }
}
