// The refused target address classes live with the policy schemas (protos/policies/target-address.ts)
// because extproc refuses the same addresses for the JWKS URLs it fetches.
export { refusedTargetClass, type RefusedAddressClass } from '../../../protos/policies/target-address.ts';
