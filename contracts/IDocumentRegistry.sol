// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IDocumentRegistry
 * @notice Interface of the Sijill registry: agencies, their issuer keys, and the
 * Merkle roots of the document batches they anchor. Only hashes are stored; no
 * personal data ever reaches the chain.
 * @dev The single-argument reads `isIssued(bytes32)` and `isRevoked(bytes32)` keep
 * the OpenAttestation document store's read interface, so its verifiers can check
 * Sijill documents.
 */
interface IDocumentRegistry {
    /// @notice Lifecycle of a batch or of one document inside a batch.
    enum Status {
        None,
        Active,
        Suspended,
        Revoked
    }

    /// @notice An agency's standing: a frozen agency anchors and changes nothing until the
    /// council lifts the freeze; a removed one never again. What either issued stays as it was.
    enum AgencyStatus {
        None,
        Active,
        Frozen,
        Removed
    }

    /**
     * @notice Everything a verifier needs about one document, read in one call.
     * @dev `batch*` fields describe the anchor of `root`; `document*` fields the
     * record kept for `targetHash` alone (None when it was never changed on its own).
     * `documentAgencyId` names the agency that changed that record.
     */
    struct DocumentView {
        bytes32 agencyId;
        address key;
        uint40 keyValidFrom;
        uint40 keyValidUntil;
        uint40 anchoredAt;
        uint40 anchoredBlock;
        uint40 expiresAt;
        uint32 documentCount;
        Status batchStatus;
        uint8 batchReason;
        Status documentStatus;
        uint8 documentReason;
        bytes32 documentAgencyId;
        bool paused;
    }

    /// @notice A document type every agency shares, registered at deployment as its version 1.
    struct SharedType {
        bytes32 typeId;
        bytes32 definitionHash;
    }

    /**
     * @notice Emitted when the council admits an agency.
     * @param agencyId The agency's identifier.
     * @param name The agency's display name.
     * @param admin The address that manages the agency's issuer keys.
     */
    event AgencyRegistered(bytes32 indexed agencyId, string name, address admin);

    /**
     * @notice Emitted when an agency (or the council, for a type every agency shares) registers a
     * version of a document type: the hash of its canonical definition (schema, protected fields,
     * layout), whose text lives off chain.
     * @param typeId The type's identifier (e.g. its short name, right-padded).
     * @param version The version, counted from 1.
     * @param agencyId The owning agency; zero for a shared type the council registered.
     * @param definitionHash keccak256 of the definition's RFC 8785 canonical JSON.
     * @param at Time of registration.
     */
    event DocumentTypeRegistered(
        bytes32 indexed typeId, uint32 indexed version, bytes32 indexed agencyId, bytes32 definitionHash, uint40 at
    );

    /**
     * @notice Emitted when the council names another admin for an agency.
     * @param agencyId The agency.
     * @param admin Its new admin.
     */
    event AgencyAdminChanged(bytes32 indexed agencyId, address admin);

    /**
     * @notice Emitted when the council freezes, unfreezes or removes an agency.
     * @param agencyId The agency.
     * @param status Its new standing.
     */
    event AgencyStatusChanged(bytes32 indexed agencyId, AgencyStatus status);

    /**
     * @notice Emitted with {Revoked} when the council revokes in an emergency.
     * @param hash The revoked root or target hash.
     * @param agencyId The agency whose batch held it.
     * @param note Why, in words (no personal data).
     */
    event EmergencyRevoked(bytes32 indexed hash, bytes32 indexed agencyId, string note);

    /**
     * @notice Emitted when an agency's admin authorizes an issuer key for an agency.
     * @param agencyId The agency the key acts for.
     * @param key The key's address.
     * @param validFrom First second (unix time) at which the key may act.
     * @param validUntil First second at which the key may no longer act.
     */
    event IssuerKeyAdded(bytes32 indexed agencyId, address indexed key, uint40 validFrom, uint40 validUntil);

    /**
     * @notice Emitted when an agency's admin moves the end of a key's validity window.
     * @param agencyId The agency the key acts for.
     * @param key The key's address.
     * @param validUntil The new end of the window.
     */
    event IssuerKeyValidUntilChanged(bytes32 indexed agencyId, address indexed key, uint40 validUntil);

    /**
     * @notice Emitted when an agency's admin registers a P-256 key that signs the agency's
     * Verifiable Credentials (off chain).
     * @param agencyId The agency the key signs for.
     * @param keyId keccak256 of `publicKey`.
     * @param publicKey The key's compressed SEC1 encoding (33 bytes).
     * @param validFrom First second the key may sign at.
     * @param validUntil First second it no longer may.
     */
    event CredentialKeyAdded(
        bytes32 indexed agencyId, bytes32 indexed keyId, bytes publicKey, uint40 validFrom, uint40 validUntil
    );

    /**
     * @notice Emitted when the end of a credential key's validity window moves.
     * @param agencyId The key's agency.
     * @param keyId keccak256 of the key's compressed public key.
     * @param validUntil The new end of the window.
     */
    event CredentialKeyValidUntilChanged(bytes32 indexed agencyId, bytes32 indexed keyId, uint40 validUntil);

    /**
     * @notice Emitted when an issuer key anchors the Merkle root of a batch.
     * @dev The agency is the one `key` was added for (see {IssuerKeyAdded}).
     * @param root The Merkle root of the batch.
     * @param key The issuer key that anchored it.
     * @param documentCount Number of documents in the batch.
     * @param expiresAt Unix time at which the batch expires, 0 for never.
     * @param at The block's time: auditors check the key's window against it from the log alone.
     */
    event Anchored(bytes32 indexed root, address indexed key, uint32 documentCount, uint40 expiresAt, uint40 at);

    /**
     * @notice Emitted when a batch (`hash` == `root`) or one document of a batch is revoked.
     * @param hash The revoked root or target hash.
     * @param root The root of the batch `hash` belongs to.
     * @param by The issuer key that revoked it, or the council in an emergency.
     * @param reason Reason code (see the README).
     * @param at The block's time.
     */
    event Revoked(bytes32 indexed hash, address indexed by, bytes32 root, uint8 reason, uint40 at);

    /**
     * @notice Emitted when a batch (`hash` == `root`) or one document of a batch is suspended.
     * @param hash The suspended root or target hash.
     * @param root The root of the batch `hash` belongs to.
     * @param by The issuer key that suspended it.
     * @param reason Reason code (see the README).
     * @param at The block's time.
     */
    event Suspended(bytes32 indexed hash, address indexed by, bytes32 root, uint8 reason, uint40 at);

    /**
     * @notice Emitted when a suspended batch (`hash` == `root`) or document is reinstated.
     * @param hash The reinstated root or target hash.
     * @param by The issuer key that reinstated it.
     * @param root The root of the batch `hash` belongs to.
     * @param at The block's time.
     */
    event Reinstated(bytes32 indexed hash, address indexed by, bytes32 root, uint40 at);

    /// @notice The agency id is zero.
    error RegistryInvalidAgencyId();

    /**
     * @notice The agency name is empty.
     * @param agencyId The agency being registered.
     */
    error RegistryEmptyAgencyName(bytes32 agencyId);

    /**
     * @notice `agencyId` is registered already.
     * @param agencyId The agency id asked for.
     */
    error RegistryAgencyAlreadyRegistered(bytes32 agencyId);

    /**
     * @notice `agencyId` is not registered.
     * @param agencyId The agency id asked for.
     */
    error RegistryUnknownAgency(bytes32 agencyId);

    /// @notice The key is the zero address.
    error RegistryInvalidKey();

    /**
     * @notice `key` was added already; a key serves one agency for its whole life.
     * @param key The key being added.
     */
    error RegistryKeyAlreadyRegistered(address key);

    /**
     * @notice `key` was never added.
     * @param key The address that acted or was named as a key.
     */
    error RegistryUnknownKey(address key);

    /**
     * @notice The window [`validFrom`, `validUntil`) is empty or starts before `now`.
     * @param validFrom The window's first second, as asked for (0 read as now).
     * @param validUntil The window's end, as asked for (0 read as no end).
     * @param now The chain's time.
     */
    error RegistryInvalidValidityWindow(uint40 validFrom, uint40 validUntil, uint40 now);

    /**
     * @notice `key` may not act at `now`: it is outside its validity window.
     * @param key The key that acted.
     * @param validFrom The first second of its window.
     * @param validUntil The end of its window.
     * @param now The chain's time.
     */
    error RegistryKeyNotValid(address key, uint40 validFrom, uint40 validUntil, uint40 now);

    /// @notice The root is zero.
    /// @notice A credential key must be a compressed P-256 point: 33 bytes starting 0x02 or 0x03.
    error RegistryInvalidCredentialKey(uint256 length);

    /// @notice The credential key was registered already (for this agency or another).
    /// @param keyId keccak256 of its public key.
    error RegistryCredentialKeyAlreadyRegistered(bytes32 keyId);

    /// @notice No credential key has this id.
    /// @param keyId keccak256 of a public key.
    error RegistryUnknownCredentialKey(bytes32 keyId);

    error RegistryInvalidRoot();

    /// @notice A batch must hold at least one document.
    error RegistryInvalidDocumentCount();

    /**
     * @notice The expiry `expiresAt` is not after `now`.
     * @param expiresAt The expiry asked for.
     * @param now The chain's time.
     */
    error RegistryExpiryInPast(uint40 expiresAt, uint40 now);

    /**
     * @notice `root` was anchored already; a root is anchored once only.
     * @param root The root being anchored.
     */
    error RegistryRootAlreadyAnchored(bytes32 root);

    /**
     * @notice `root` was never anchored (for a document: the root its proof leads to).
     * @param root The root asked for, or the one the document's proof led to.
     */
    error RegistryNotAnchored(bytes32 root);

    /**
     * @notice `account` may not change documents of `agencyId`.
     * @param account The caller.
     * @param agencyId The agency whose batch holds what it tried to change.
     */
    error RegistryUnauthorized(address account, bytes32 agencyId);

    /**
     * @notice `hash` is revoked; revocation is final.
     * @param hash The root or target hash (or the batch root that is revoked as a whole).
     */
    error RegistryAlreadyRevoked(bytes32 hash);

    /**
     * @notice `hash` is suspended already.
     * @param hash The root or target hash.
     */
    error RegistryAlreadySuspended(bytes32 hash);

    /**
     * @notice `hash` is not suspended, so it cannot be reinstated.
     * @param hash The root or target hash.
     */
    error RegistryNotSuspended(bytes32 hash);

    /**
     * @notice `targetHash` belongs to `owner` too, whose batch holding it was anchored first.
     * @param targetHash The document's target hash.
     * @param owner The agency that holds its record.
     */
    error RegistryDocumentOwnedByOtherAgency(bytes32 targetHash, bytes32 owner);

    /**
     * @notice `account` is not the admin of `agencyId`.
     * @param account The caller.
     * @param agencyId The agency whose keys it tried to manage.
     */
    error RegistryNotAgencyAdmin(address account, bytes32 agencyId);

    /**
     * @notice `agencyId` is frozen or removed by the council: it anchors and changes nothing.
     * @param agencyId The agency.
     */
    error RegistryAgencyFrozen(bytes32 agencyId);

    /**
     * @notice `agencyId` was removed; that is final.
     * @param agencyId The agency.
     */
    error RegistryAgencyRemoved(bytes32 agencyId);

    /**
     * @notice `agencyId` cannot go from `current` to `requested`.
     * @param agencyId The agency.
     * @param current Its standing.
     * @param requested The standing asked for.
     */
    error RegistryInvalidAgencyStatus(bytes32 agencyId, AgencyStatus current, AgencyStatus requested);

    /**
     * @notice `agencyId` was given `limit` issuer keys already, the most an agency gets.
     * @param agencyId The agency.
     * @param limit The limit.
     */
    error RegistryTooManyKeys(bytes32 agencyId, uint256 limit);

    /// @notice An agency's admin must be a non-zero address.
    error RegistryInvalidAdmin();

    /**
     * @notice `account` administers an agency already; an admin serves one agency.
     * @param account The address named as admin.
     */
    error RegistryAdminAlreadyAssigned(address account);

    /**
     * @notice `account` governs and issues at once, which the registry refuses: the
     * council, guardians and agency admins are never issuer keys, nor the other way round.
     * @param account The address named.
     */
    error RegistryGovernorCannotIssue(address account);

    /**
     * @notice An emergency revocation of `hash` needs its reason in words.
     * @param hash The root or target hash.
     */
    error RegistryEmptyNote(bytes32 hash);

    /// @notice A document type needs a non-zero identifier.
    error RegistryInvalidTypeId();

    /**
     * @notice A document type's version needs the non-zero hash of its definition.
     * @param typeId The type.
     */
    error RegistryInvalidTypeDefinition(bytes32 typeId);

    /**
     * @notice `typeId` belongs to another owner, who alone adds its versions.
     * @param typeId The type.
     * @param owner The owning agency; zero for a shared type.
     */
    error RegistryTypeOwnedByOther(bytes32 typeId, bytes32 owner);

    /**
     * @notice Versions of a type are registered in turn, from 1.
     * @param typeId The type.
     * @param version The version given.
     * @param expected The only version that may come next.
     */
    error RegistryInvalidTypeVersion(bytes32 typeId, uint32 version, uint32 expected);

    /**
     * @notice Admits an agency, whose `admin` then manages its issuer keys.
     * @dev Requirements: caller is the council; `agencyId` is non-zero and new; `name`
     * is not empty; `admin` is non-zero, no issuer key and no other agency's admin.
     * Emits {AgencyRegistered}.
     * @param agencyId The agency's identifier (e.g. its short name, right-padded).
     * @param name The agency's display name.
     * @param admin The agency's admin: a key or the agency's own multisig.
     */
    function registerAgency(bytes32 agencyId, string calldata name, address admin) external;

    /**
     * @notice Names another admin for an agency (a lost or rotated admin key).
     * @dev Requirements: caller is the council; the agency exists and is not removed;
     * `admin` as for {registerAgency}. Emits {AgencyAdminChanged}.
     * @param agencyId The agency.
     * @param admin Its new admin.
     */
    function setAgencyAdmin(bytes32 agencyId, address admin) external;

    /**
     * @notice Freezes, unfreezes or removes an agency.
     * @dev A frozen or removed agency's keys anchor and change nothing, and its admin
     * manages no keys; what it issued stays as it was. Removal is final. Requirements:
     * caller is the council; the agency exists, is not removed, and `status` is another
     * standing than None. Emits {AgencyStatusChanged}.
     * @param agencyId The agency.
     * @param status Active, Frozen or Removed.
     */
    function setAgencyStatus(bytes32 agencyId, AgencyStatus status) external;

    /**
     * @notice Authorizes `key` to anchor and change documents for `agencyId` during
     * [`validFrom`, `validUntil`).
     * @dev Requirements: caller is the agency's admin and the agency is active; it has
     * fewer than 1,000 keys; `key` is non-zero, was never added and governs nothing;
     * `validFrom` (0 for now) is not in the
     * past and before `validUntil` (0 for no end). Emits {IssuerKeyAdded}.
     * @param agencyId The agency the key acts for.
     * @param key The key's address.
     * @param validFrom First second of the window, 0 for now.
     * @param validUntil End of the window, 0 for no end.
     */
    function addIssuerKey(bytes32 agencyId, address key, uint40 validFrom, uint40 validUntil) external;

    /**
     * @notice Moves the end of `key`'s validity window, to retire or to extend it.
     * @dev The new end must lie after the current second, so what the key anchored
     * while it was valid stays valid. Requirements: caller is the admin of the key's
     * agency, which is active, or frozen when the window only gets shorter (a stolen key
     * is retired before the freeze is lifted); `key` exists; `validUntil` is 0 or after
     * now, and not before the key's `validFrom`. Emits {IssuerKeyValidUntilChanged}.
     * @param key The key's address.
     * @param validUntil The new end of the window; 0 retires the key after the current second
     * (a key whose window has not started gets an empty one).
     */
    function setIssuerKeyValidUntil(address key, uint40 validUntil) external;

    /**
     * @notice Registers a P-256 public key that signs `agencyId`'s Verifiable Credentials
     * within [`validFrom`, `validUntil`). The chain holds only its hash; a verifier reads the
     * window of the key a credential's proof names, at the credential's `validFrom`.
     * @dev The same window rules as {addIssuerKey}. Requirements: caller is the agency's admin
     * and the agency is active; `publicKey` is 33 bytes starting 0x02 or 0x03 and was never
     * registered; `validFrom` (0 for now) is not in the past and before `validUntil` (0 for no
     * end). Emits {CredentialKeyAdded}.
     * @param agencyId The agency the key signs for.
     * @param publicKey The key's compressed SEC1 encoding.
     * @param validFrom First second of the window, 0 for now.
     * @param validUntil End of the window, 0 for no end.
     */
    function addCredentialKey(bytes32 agencyId, bytes calldata publicKey, uint40 validFrom, uint40 validUntil)
        external;

    /**
     * @notice Moves the end of a credential key's validity window, to retire or to extend it.
     * @dev The same rules as {setIssuerKeyValidUntil}; emits {CredentialKeyValidUntilChanged}.
     * @param keyId keccak256 of the key's compressed public key.
     * @param validUntil The new end of the window; 0 retires the key after the current second.
     */
    function setCredentialKeyValidUntil(bytes32 keyId, uint40 validUntil) external;

    /**
     * @notice Registers version `version` of document type `typeId`, owned by `agencyId`, or shared
     * by every agency when `agencyId` is zero. A registered version never changes and is never
     * withdrawn: documents issued under it stay verifiable when later versions come.
     * @dev Requirements: `typeId` and `definitionHash` are non-zero; for an agency's type the caller
     * is its admin and the agency is active; for a shared type the caller is the council; a type
     * once registered keeps its owner; `version` is one more than the type's last (1 for a new
     * type). Emits {DocumentTypeRegistered}.
     * @param typeId The type's identifier.
     * @param version The new version.
     * @param agencyId The owning agency, zero for a shared type.
     * @param definitionHash keccak256 of the definition's RFC 8785 canonical JSON.
     */
    function registerDocumentType(bytes32 typeId, uint32 version, bytes32 agencyId, bytes32 definitionHash)
        external;

    /**
     * @notice Anchors the Merkle root of a batch of documents for the caller's agency.
     * @dev Requirements: the caller is an issuer key inside its validity window; not
     * paused; its agency is active; `root` is non-zero and never anchored; `documentCount` > 0;
     * `expiresAt` is 0 or in the future. Emits {Anchored}.
     * @param root Merkle root of the batch (the target hash for a single document).
     * @param documentCount Number of documents in the batch.
     * @param expiresAt Unix time at which the batch expires, 0 for never.
     */
    function anchor(bytes32 root, uint32 documentCount, uint40 expiresAt) external;

    /**
     * @notice Revokes a whole batch (a single document when it was anchored alone).
     * @dev Final. Requirements: not paused; `root` is anchored and not revoked; the
     * caller is a valid key of the anchoring agency, which is active. Emits {Revoked}.
     * @param root The anchored root.
     * @param reason Reason code.
     */
    function revoke(bytes32 root, uint8 reason) external;

    /**
     * @notice Revokes one document of a batch, proven a member by `proof`.
     * @dev Final. The batch is the root `proof` leads to from `targetHash`, so a
     * wrong proof finds no anchor. When several agencies' batches hold the same
     * target hash, its record belongs to the agency whose batch was anchored first; a
     * later copy's revocation stays, and an earlier claimant may revoke it as its own.
     * Requirements: as {revoke} for that root; the document is not revoked; no
     * agency with an earlier batch holding it owns its record. Emits {Revoked}.
     * @param targetHash The document's target hash.
     * @param proof Sorted-pair keccak256 Merkle proof from `targetHash` to its batch root.
     * @param reason Reason code.
     */
    function revokeDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external;

    /**
     * @notice Suspends a whole batch until it is reinstated.
     * @dev Requirements: not paused; `root` is anchored and active; the caller is a
     * valid key of the anchoring agency, which is active. Emits {Suspended}.
     * @param root The anchored root.
     * @param reason Reason code.
     */
    function suspend(bytes32 root, uint8 reason) external;

    /**
     * @notice Suspends one document of a batch, proven a member by `proof`.
     * @dev The batch is the root `proof` leads to. Requirements: as {suspend} for that
     * root; the document is active; no agency with an earlier batch holding it owns
     * its record. Emits {Suspended}.
     * @param targetHash The document's target hash.
     * @param proof Sorted-pair keccak256 Merkle proof from `targetHash` to its batch root.
     * @param reason Reason code.
     */
    function suspendDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external;

    /**
     * @notice Reinstates a suspended batch.
     * @dev Requirements: not paused; `root` is anchored and suspended; the caller is
     * a valid key of the anchoring agency. Emits {Reinstated}.
     * @param root The suspended root.
     */
    function reinstate(bytes32 root) external;

    /**
     * @notice Reinstates one suspended document of a batch, proven a member by `proof`.
     * @dev Requirements: as {suspendDocument}, and the document is suspended. Emits {Reinstated}.
     * @param targetHash The document's target hash.
     * @param proof Sorted-pair keccak256 Merkle proof from `targetHash` to its batch root.
     */
    function reinstateDocument(bytes32 targetHash, bytes32[] calldata proof) external;

    /**
     * @notice Revokes a batch (empty `proof`, `hash` its root) or one document, for the
     * council: a key was stolen, or an agency issued by fraud.
     * @dev Works during a pause and for a frozen agency. Requirements: caller is the
     * council; the root `proof` leads to from `hash` is anchored and not revoked; the
     * document is not revoked and no agency with an earlier batch holding it owns its
     * record; `note` is not empty. Emits {Revoked} and {EmergencyRevoked}.
     * @param hash The root, or the document's target hash.
     * @param proof Sorted-pair keccak256 Merkle proof from `hash` to its batch root; empty for a batch.
     * @param reason Reason code.
     * @param note Why, in words, kept on chain (no personal data).
     */
    function emergencyRevoke(bytes32 hash, bytes32[] calldata proof, uint8 reason, string calldata note) external;

    /**
     * @notice Stops every anchor and status change until {unpause}, at a cost that does
     * not grow with the number of keys.
     * @dev Requirements: caller is a guardian; not paused. Emits {Paused}.
     */
    function pause() external;

    /**
     * @notice Lifts {pause}.
     * @dev Requirements: caller is the council; paused. Emits {Unpaused}.
     */
    function unpause() external;

    /**
     * @notice Whether `hash` was anchored as a root (OpenAttestation document store read).
     * @dev Stays true after revocation; never reverts.
     * @param hash A Merkle root or a single document's target hash.
     * @return True when `hash` was anchored.
     */
    function isIssued(bytes32 hash) external view returns (bool);

    /**
     * @notice Whether `hash` (a root or a target hash) may not be relied on now
     * (OpenAttestation document store read).
     * @dev True while `hash` is revoked or suspended: a verifier that knows only this
     * read must not accept a suspended permit. A target hash's record is its owning
     * agency's (see {revokeDocument}). Never reverts.
     * @param hash A Merkle root or a target hash.
     * @return True when `hash` is revoked or suspended.
     */
    function isRevoked(bytes32 hash) external view returns (bool);

    /**
     * @notice Everything known about `targetHash` in the batch `root`, in one read.
     * @dev Never reverts; an unknown root gives `batchStatus` None.
     * @param targetHash The document's target hash.
     * @param root The root of its batch (equal to `targetHash` for a single document).
     * @return The whole record.
     */
    function inspect(bytes32 targetHash, bytes32 root) external view returns (DocumentView memory);

    /**
     * @notice The agency registered as `agencyId`.
     * @param agencyId The agency's identifier.
     * @return status Its standing (None when unknown).
     * @return name Its display name.
     * @return admin The address that manages its keys.
     * @return keyCount How many issuer keys it was ever given.
     */
    function agency(bytes32 agencyId)
        external
        view
        returns (AgencyStatus status, string memory name, address admin, uint256 keyCount);

    /**
     * @notice The agency and validity window of an issuer key.
     * @param key The key's address.
     * @return agencyId The agency the key acts for (zero when unknown).
     * @return validFrom Start of the window.
     * @return validUntil End of the window.
     */
    function issuerKey(address key) external view returns (bytes32 agencyId, uint40 validFrom, uint40 validUntil);

    /**
     * @notice The agency and validity window of a credential key.
     * @param keyId keccak256 of the key's compressed public key.
     * @return agencyId The agency the key signs for (zero when unknown).
     * @return validFrom Start of the window.
     * @return validUntil End of the window.
     */
    function credentialKey(bytes32 keyId) external view returns (bytes32 agencyId, uint40 validFrom, uint40 validUntil);

    /**
     * @notice A version of a document type, as registered.
     * @dev Never reverts; an unknown type or version gives a zero `definitionHash`.
     * @param typeId The type's identifier.
     * @param version The version.
     * @return agencyId The owning agency (zero for a shared type).
     * @return definitionHash The hash of that version's definition.
     * @return registeredAt When that version was registered.
     * @return versions How many versions the type has.
     */
    function documentType(bytes32 typeId, uint32 version)
        external
        view
        returns (bytes32 agencyId, bytes32 definitionHash, uint40 registeredAt, uint32 versions);
}
