// Model aliases: the checks the gateway makes (services/api-gateway/src/domain/model_aliases.rs),
// so the form can say what is wrong before sending.

export interface AliasInput {
  alias: string;
  target: string;
}

export type AliasResult = { body: { alias: string; target: string } } | { errors: Partial<Record<keyof AliasInput, string>> };

const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** The request body of `POST /api/v1/model-aliases`, or the fields' errors. */
export function aliasBody(input: AliasInput): AliasResult {
  const alias = input.alias.trim();
  const target = input.target.trim();
  const errors: Partial<Record<keyof AliasInput, string>> = {};
  if (!alias) errors.alias = 'Required';
  else if (!ALIAS.test(alias)) errors.alias = '1–100 letters, digits, . _ : or -, starting with a letter or digit';
  if (!target) errors.target = 'Required';
  else if (target.length > 200 || /\s/.test(target)) errors.target = 'A catalog model (gpt-4o-mini) or provider/model';
  else if (target === alias) errors.target = 'An alias cannot point to itself';
  return Object.keys(errors).length ? { errors } : { body: { alias, target } };
}
