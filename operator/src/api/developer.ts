// Developer (docs/architecture.md#the-api, docs/api.md): the person or team that owns DeveloperApps, as
// Apigee's developer entity. An app names it with spec.developerRef; VerifyAPIKey refuses the keys of an
// inactive (or missing) developer's apps (keymanagement.service.DeveloperStatusNotActive) and sets the
// developer.* flow variables from it; AccessEntity reads it.
import { attributes, compiledStatusBase } from './common.ts';
import { described, enumOf, object, optional, string, type Infer } from './schema.ts';

export const developerStatuses = ['active', 'inactive'] as const;

export const developerSpec = object(
  {
    email: string({
      maxLength: 254,
      format: 'email',
      description:
        "The developer's email address, unique among the Developers of the namespace (a later one with the same email is not accepted); the developer.email flow variable. Apigee: email.",
    }),
    firstName: optional(
      string({ maxLength: 256, description: 'First name; the developer.firstName flow variable. Apigee: firstName.' }),
    ),
    lastName: optional(
      string({ maxLength: 256, description: 'Last name; the developer.lastName flow variable. Apigee: lastName.' }),
    ),
    userName: optional(
      string({ maxLength: 256, description: 'User name; the developer.userName flow variable. Apigee: userName.' }),
    ),
    status: optional(
      enumOf(developerStatuses, {
        description:
          "active (absent means active) or inactive: the keys of an inactive developer's apps are refused with keymanagement.service.DeveloperStatusNotActive. Lowercase, as Apigee writes it. Apigee: status.",
      }),
    ),
    attributes: optional(
      described(
        attributes,
        'Free-form name/value pairs; VerifyAPIKey sets each as the flow variable developer.<name>. Apigee: attributes.',
      ),
    ),
  },
  {
    description: 'A developer: who owns DeveloperApps (they name it in spec.developerRef). Apigee: a developer.',
  },
);
export type DeveloperSpec = Infer<typeof developerSpec>;

export const developerStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this Developer, written by the operator.' },
);
