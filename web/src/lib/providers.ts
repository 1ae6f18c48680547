export const PROVIDERS: { id: string; label: string }[] = [
  { id: 'openai', label: 'OpenAI' },
  { id: 'anthropic', label: 'Anthropic' },
  { id: 'gemini', label: 'Google Gemini' },
  { id: 'bedrock', label: 'AWS Bedrock' },
  { id: 'azure', label: 'Azure OpenAI' },
  { id: 'cohere', label: 'Cohere' },
  { id: 'mistral', label: 'Mistral' },
  { id: 'perplexity', label: 'Perplexity' },
  { id: 'openai_compatible', label: 'OpenAI-compatible' },
];
