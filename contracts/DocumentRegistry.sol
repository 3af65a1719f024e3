// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDocumentRegistry} from "./IDocumentRegistry.sol";
import {AnchorRecord, DocumentRecord, KeyRecord, RecordPacking} from "./RecordPacking.sol";

/**
 * @title DocumentRegistry
 * @notice One registry shared by every agency. Three kinds of address govern it, and
 * none of them issues:
 * - the council (the default admin: in production a timelock whose proposer is the
 *   agencies' multisig) admits, freezes and removes agencies, names their admins,
 *   revokes in an emergency, names guardians and unpauses;
 * - any one guardian pauses at once;
 * - each agency's admin adds, extends and retires that agency's issuer keys.
 * Issuer keys anchor Merkle roots of document batches and revoke, suspend or
 * reinstate their own agency's batches and documents.
 * @dev What an anchor stores fits one storage slot. Agencies and keys get compact
 * 1-based indexes so that anchors can refer to them within that slot. A key action
 * reads its key's record (which carries its agency's freeze) and the pause switch:
 * two storage reads, whatever the number of keys or agencies.
 */
contract DocumentRegistry is IDocumentRegistry, AccessControlDefaultAdminRules, Pausable {
    /// @notice The role of the addresses that may pause the registry.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    struct Agency {
        bytes32 id;
        address admin;
        AgencyStatus status;
        string name;
    }


    /// @dev A document type's owner (agency index, 0 for a shared type) and its number of versions: one word.
    struct TypeHead {
        uint32 agencyIndex;
        uint32 versions;
    }

    /// @dev One version of a document type.
    struct TypeVersion {
        bytes32 definitionHash;
        uint40 registeredAt;
    }

    // The records' bit layouts live in RecordPacking: an anchor and a document's record are one word each.

    uint40 private constant _NO_END = type(uint40).max;

    /// @notice The most issuer keys an agency is ever given, so that freezing it fits well inside a block.
    uint256 public constant MAX_KEYS_PER_AGENCY = 1000;

    Agency[] private _agencies;
    address[] private _keyAddresses;
    mapping(bytes32 agencyId => uint32 agencyIndex) private _agencyIndexes;
    mapping(address admin => uint32 agencyIndex) private _adminAgencies;
    mapping(uint32 agencyIndex => address[] keys) private _agencyKeys;
    /// @dev A key record carries its agency's freeze, so key actions read it with the key.
    mapping(address key => KeyRecord record) private _keys;
    mapping(bytes32 root => AnchorRecord anchor) private _anchors;
    mapping(bytes32 targetHash => DocumentRecord record) private _documents;
    /// @dev Credential keys sign off chain: their records are never frozen, and their key index (1) only marks them.
    mapping(bytes32 keyId => KeyRecord record) private _credentialKeys;
    mapping(bytes32 typeId => TypeHead head) private _typeHeads;
    mapping(bytes32 typeId => mapping(uint32 version => TypeVersion record)) private _typeVersions;

    /**
     * @param councilTransferDelay Seconds a two-step transfer of the council role must wait.
     * @param council The council: the default admin.
     * @param guardians The first guardians.
     * @param sharedTypes The document types every agency shares from the start, each as its version 1
     * (the types the software ships), registered as the council would register them.
     */
    constructor(
        uint48 councilTransferDelay,
        address council,
        address[] memory guardians,
        SharedType[] memory sharedTypes
    ) AccessControlDefaultAdminRules(councilTransferDelay, council) {
        for (uint256 i = 0; i < guardians.length; ++i) {
            _grantRole(GUARDIAN_ROLE, guardians[i]);
        }
        for (uint256 i = 0; i < sharedTypes.length; ++i) {
            _registerType(sharedTypes[i].typeId, 1, 0, bytes32(0), sharedTypes[i].definitionHash);
        }
    }

    /// @inheritdoc IDocumentRegistry
    function registerAgency(bytes32 agencyId, string calldata name, address admin)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (agencyId == bytes32(0)) revert RegistryInvalidAgencyId();
        if (bytes(name).length == 0) revert RegistryEmptyAgencyName(agencyId);
        if (_agencyIndexes[agencyId] != 0) revert RegistryAgencyAlreadyRegistered(agencyId);
        _requireNewGovernor(admin);
        _agencies.push(Agency({id: agencyId, admin: admin, status: AgencyStatus.Active, name: name}));
        uint32 index = uint32(_agencies.length);
        _agencyIndexes[agencyId] = index;
        _adminAgencies[admin] = index;
        emit AgencyRegistered(agencyId, name, admin);
    }

    /// @inheritdoc IDocumentRegistry
    function setAgencyAdmin(bytes32 agencyId, address admin) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint32 index = _agencyIndexOf(agencyId);
        Agency storage record = _agencies[index - 1];
        if (record.status == AgencyStatus.Removed) revert RegistryAgencyRemoved(agencyId);
        _requireNewGovernor(admin);
        delete _adminAgencies[record.admin];
        record.admin = admin;
        _adminAgencies[admin] = index;
        emit AgencyAdminChanged(agencyId, admin);
    }

    /**
     * @inheritdoc IDocumentRegistry
     * @dev Writes the freeze into each of the agency's key records, which key actions
     * read anyway; {MAX_KEYS_PER_AGENCY} bounds the loop, so no agency admin can make
     * its agency too costly to freeze.
     */
    function setAgencyStatus(bytes32 agencyId, AgencyStatus status) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint32 index = _agencyIndexOf(agencyId);
        Agency storage record = _agencies[index - 1];
        AgencyStatus current = record.status;
        if (current == AgencyStatus.Removed || status == current || status == AgencyStatus.None) {
            revert RegistryInvalidAgencyStatus(agencyId, current, status);
        }
        record.status = status;
        bool frozen = status != AgencyStatus.Active;
        address[] storage keys = _agencyKeys[index];
        uint256 count = keys.length;
        for (uint256 i = 0; i < count; ++i) {
            _keys[keys[i]] = _keys[keys[i]].withFrozen(frozen);
        }
        emit AgencyStatusChanged(agencyId, status);
    }

    /// @inheritdoc IDocumentRegistry
    function addIssuerKey(bytes32 agencyId, address key, uint40 validFrom, uint40 validUntil) external {
        uint32 agencyIndex = _agencyIndexOf(agencyId);
        _requireAgencyAdmin(agencyIndex, false);
        if (key == address(0)) revert RegistryInvalidKey();
        if (_keys[key].keyIndex() != 0) revert RegistryKeyAlreadyRegistered(key);
        if (_isGovernor(key)) revert RegistryGovernorCannotIssue(key);
        if (_agencyKeys[agencyIndex].length >= MAX_KEYS_PER_AGENCY) {
            revert RegistryTooManyKeys(agencyId, MAX_KEYS_PER_AGENCY);
        }
        (uint40 from, uint40 until) = _newWindow(validFrom, validUntil);
        _keyAddresses.push(key);
        _agencyKeys[agencyIndex].push(key);
        _keys[key] = RecordPacking.packKey(agencyIndex, uint32(_keyAddresses.length), from, until);
        emit IssuerKeyAdded(agencyId, key, from, until);
    }

    /// @inheritdoc IDocumentRegistry
    function setIssuerKeyValidUntil(address key, uint40 validUntil) external {
        KeyRecord record = _keys[key];
        if (record.keyIndex() == 0) revert RegistryUnknownKey(key);
        uint40 until = _newEnd(record, validUntil);
        _keys[key] = record.withValidUntil(until);
        emit IssuerKeyValidUntilChanged(_agencies[record.agencyIndex() - 1].id, key, until);
    }

    /// @inheritdoc IDocumentRegistry
    function addCredentialKey(bytes32 agencyId, bytes calldata publicKey, uint40 validFrom, uint40 validUntil)
        external
    {
        uint32 agencyIndex = _agencyIndexOf(agencyId);
        _requireAgencyAdmin(agencyIndex, false);
        if (publicKey.length != 33 || (publicKey[0] != 0x02 && publicKey[0] != 0x03)) {
            revert RegistryInvalidCredentialKey(publicKey.length);
        }
        bytes32 keyId = keccak256(publicKey);
        if (_credentialKeys[keyId].keyIndex() != 0) revert RegistryCredentialKeyAlreadyRegistered(keyId);
        (uint40 from, uint40 until) = _newWindow(validFrom, validUntil);
        _credentialKeys[keyId] = RecordPacking.packKey(agencyIndex, 1, from, until);
        emit CredentialKeyAdded(agencyId, keyId, publicKey, from, until);
    }

    /// @inheritdoc IDocumentRegistry
    function setCredentialKeyValidUntil(bytes32 keyId, uint40 validUntil) external {
        KeyRecord record = _credentialKeys[keyId];
        if (record.keyIndex() == 0) revert RegistryUnknownCredentialKey(keyId);
        uint40 until = _newEnd(record, validUntil);
        _credentialKeys[keyId] = record.withValidUntil(until);
        emit CredentialKeyValidUntilChanged(_agencies[record.agencyIndex() - 1].id, keyId, until);
    }

    /// @inheritdoc IDocumentRegistry
    function registerDocumentType(bytes32 typeId, uint32 version, bytes32 agencyId, bytes32 definitionHash)
        external
    {
        uint32 agencyIndex = 0;
        if (agencyId == bytes32(0)) {
            _checkRole(DEFAULT_ADMIN_ROLE);
        } else {
            agencyIndex = _agencyIndexOf(agencyId);
            _requireAgencyAdmin(agencyIndex, false);
        }
        _registerType(typeId, version, agencyIndex, agencyId, definitionHash);
    }

    /// @inheritdoc IDocumentRegistry
    function anchor(bytes32 root, uint32 documentCount, uint40 expiresAt) external {
        KeyRecord key = _keys[msg.sender];
        uint40 now_ = _time();
        _requireValidKey(key, now_);
        if (root == bytes32(0)) revert RegistryInvalidRoot();
        if (documentCount == 0) revert RegistryInvalidDocumentCount();
        if (expiresAt != 0 && expiresAt <= now_) revert RegistryExpiryInPast(expiresAt, now_);
        if (!_anchors[root].isEmpty()) revert RegistryRootAlreadyAnchored(root);
        _anchors[root] = RecordPacking.packAnchor(
            key.keyIndex(), key.agencyIndex(), now_, uint40(block.number), expiresAt, documentCount
        );
        emit Anchored(root, msg.sender, documentCount, expiresAt, now_);
    }

    /// @inheritdoc IDocumentRegistry
    function revoke(bytes32 root, uint8 reason) external {
        AnchorRecord record = _anchorOf(root);
        uint40 now_ = _requireCanChange(record.agencyIndex());
        if (record.status() == Status.Revoked) revert RegistryAlreadyRevoked(root);
        _anchors[root] = record.withStatus(Status.Revoked, reason);
        emit Revoked(root, msg.sender, root, reason, now_);
    }

    /// @inheritdoc IDocumentRegistry
    function revokeDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, true);
        if (status == Status.Revoked) revert RegistryAlreadyRevoked(targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Revoked, reason, claimedAt);
        emit Revoked(targetHash, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function suspend(bytes32 root, uint8 reason) external {
        AnchorRecord record = _anchorOf(root);
        uint40 now_ = _requireCanChange(record.agencyIndex());
        if (record.isInactive()) _requireActive(record.status(), root);
        _anchors[root] = record.withStatus(Status.Suspended, reason);
        emit Suspended(root, msg.sender, root, reason, now_);
    }

    /// @inheritdoc IDocumentRegistry
    function suspendDocument(bytes32 targetHash, bytes32[] calldata proof, uint8 reason) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, false);
        _requireActive(status, targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Suspended, reason, claimedAt);
        emit Suspended(targetHash, msg.sender, root, reason, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function reinstate(bytes32 root) external {
        AnchorRecord record = _anchorOf(root);
        uint40 now_ = _requireCanChange(record.agencyIndex());
        if (record.status() != Status.Suspended) revert RegistryNotSuspended(root);
        _anchors[root] = record.withStatus(Status.Active, 0);
        emit Reinstated(root, msg.sender, root, now_);
    }

    /// @inheritdoc IDocumentRegistry
    function reinstateDocument(bytes32 targetHash, bytes32[] calldata proof) external {
        bytes32 root = MerkleProof.processProofCalldata(proof, targetHash);
        (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentOf(targetHash, root, false);
        if (status != Status.Suspended) revert RegistryNotSuspended(targetHash);
        _documents[targetHash] = _documentRecord(agencyIndex, Status.Active, 0, claimedAt);
        emit Reinstated(targetHash, msg.sender, root, _time());
    }

    /// @inheritdoc IDocumentRegistry
    function emergencyRevoke(bytes32 hash, bytes32[] calldata proof, uint8 reason, string calldata note)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (bytes(note).length == 0) revert RegistryEmptyNote(hash);
        bytes32 root = MerkleProof.processProofCalldata(proof, hash);
        AnchorRecord record = _anchorOf(root);
        if (record.status() == Status.Revoked) revert RegistryAlreadyRevoked(root);
        if (root == hash && proof.length == 0) {
            _anchors[root] = record.withStatus(Status.Revoked, reason);
        } else {
            (uint32 agencyIndex, Status status, uint40 claimedAt) = _documentClaim(hash, record, true);
            if (status == Status.Revoked) revert RegistryAlreadyRevoked(hash);
            _documents[hash] = _documentRecord(agencyIndex, Status.Revoked, reason, claimedAt);
        }
        emit Revoked(hash, msg.sender, root, reason, _time());
        emit EmergencyRevoked(hash, _agencies[record.agencyIndex() - 1].id, note);
    }

    /// @inheritdoc IDocumentRegistry
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IDocumentRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IDocumentRegistry
    function isIssued(bytes32 hash) external view returns (bool) {
        return !_anchors[hash].isEmpty();
    }

    /// @inheritdoc IDocumentRegistry
    function isRevoked(bytes32 hash) external view returns (bool) {
        Status batch = _anchors[hash].status();
        Status document = _documents[hash].status();
        return batch == Status.Revoked || batch == Status.Suspended || document == Status.Revoked
            || document == Status.Suspended;
    }

    /// @inheritdoc IDocumentRegistry
    function inspect(bytes32 targetHash, bytes32 root) external view returns (DocumentView memory view_) {
        AnchorRecord record = _anchors[root];
        DocumentRecord document = _documents[targetHash];
        view_.paused = paused();
        view_.documentStatus = document.status();
        view_.documentReason = document.reason();
        uint32 ownerIndex = document.agencyIndex();
        if (ownerIndex != 0) view_.documentAgencyId = _agencies[ownerIndex - 1].id;
        if (record.isEmpty()) return view_;
        address key = _keyAddresses[record.keyIndex() - 1];
        KeyRecord keyRecord = _keys[key];
        view_.agencyId = _agencies[record.agencyIndex() - 1].id;
        view_.key = key;
        view_.keyValidFrom = keyRecord.validFrom();
        view_.keyValidUntil = keyRecord.validUntil();
        view_.anchoredAt = record.anchoredAt();
        view_.anchoredBlock = record.anchoredBlock();
        view_.expiresAt = record.expiresAt();
        view_.documentCount = record.documentCount();
        view_.batchStatus = record.status();
        view_.batchReason = record.reason();
    }

    /// @inheritdoc IDocumentRegistry
    function agency(bytes32 agencyId)
        external
        view
        returns (AgencyStatus status, string memory name, address admin, uint256 keyCount)
    {
        uint32 index = _agencyIndexes[agencyId];
        if (index == 0) return (AgencyStatus.None, "", address(0), 0);
        Agency storage record = _agencies[index - 1];
        return (record.status, record.name, record.admin, _agencyKeys[index].length);
    }

    /// @inheritdoc IDocumentRegistry
    function issuerKey(address key) external view returns (bytes32 agencyId, uint40 validFrom, uint40 validUntil) {
        KeyRecord record = _keys[key];
        if (record.keyIndex() == 0) return (bytes32(0), 0, 0);
        return (_agencies[record.agencyIndex() - 1].id, record.validFrom(), record.validUntil());
    }

    /// @inheritdoc IDocumentRegistry
    function credentialKey(bytes32 keyId)
        external
        view
        returns (bytes32 agencyId, uint40 validFrom, uint40 validUntil)
    {
        KeyRecord record = _credentialKeys[keyId];
        if (record.keyIndex() == 0) return (bytes32(0), 0, 0);
        return (_agencies[record.agencyIndex() - 1].id, record.validFrom(), record.validUntil());
    }

    /// @inheritdoc IDocumentRegistry
    function documentType(bytes32 typeId, uint32 version)
        external
        view
        returns (bytes32 agencyId, bytes32 definitionHash, uint40 registeredAt, uint32 versions)
    {
        TypeHead memory head = _typeHeads[typeId];
        TypeVersion memory record = _typeVersions[typeId][version];
        if (head.agencyIndex != 0) agencyId = _agencies[head.agencyIndex - 1].id;
        return (agencyId, record.definitionHash, record.registeredAt, head.versions);
    }

    /// @dev The clock every rule reads; tests may override it.
    function _time() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    /// @dev A new key's window: `validFrom` 0 is now, `validUntil` 0 no end; it may not start in the past or be empty.
    function _newWindow(uint40 validFrom, uint40 validUntil) private view returns (uint40 from, uint40 until) {
        uint40 now_ = _time();
        from = validFrom == 0 ? now_ : validFrom;
        until = validUntil == 0 ? _NO_END : validUntil;
        if (from < now_ || until <= from) revert RegistryInvalidValidityWindow(from, until, now_);
    }

    /**
     * @dev The new end of a key's window, once its agency's admin asked for it: 0 retires the key
     * after the current second (one not yet started gets an empty window); the end may not be past.
     */
    function _newEnd(KeyRecord record, uint40 validUntil) private view returns (uint40 until) {
        uint40 now_ = _time();
        uint40 from = record.validFrom();
        until = validUntil == 0 ? (from > now_ ? from : now_ + 1) : validUntil;
        // Shortening a window is allowed while the agency is frozen: a stolen key is retired
        // before the freeze is lifted.
        _requireAgencyAdmin(record.agencyIndex(), until <= record.validUntil());
        if (until <= now_ || until < from) revert RegistryInvalidValidityWindow(from, until, now_);
    }

    /// @dev The anchor of `root`, which must exist.
    function _anchorOf(bytes32 root) private view returns (AnchorRecord record) {
        record = _anchors[root];
        if (record.isEmpty()) revert RegistryNotAnchored(root);
    }

    /**
     * @dev Checks that `root` (where the document's proof led) is anchored and not
     * revoked and that the caller is a valid key of its agency; then as {_documentClaim}.
     */
    function _documentOf(bytes32 targetHash, bytes32 root, bool revoking)
        private
        view
        returns (uint32 agencyIndex, Status status, uint40 claimedAt)
    {
        AnchorRecord record = _anchorOf(root);
        _requireCanChange(record.agencyIndex());
        if (record.status() == Status.Revoked) revert RegistryAlreadyRevoked(root);
        return _documentClaim(targetHash, record, revoking);
    }

    /**
     * @dev The agency that would hold `targetHash`'s record after a change through the
     * batch `record`, the document's status as that agency may see it, and the claim
     * time to store.
     *
     * Two agencies' batches may hold the same target hash (a copy, or an attack):
     * the record belongs to the agency whose batch was anchored first. A later
     * agency's changes are refused; the owner's first change discards them, except
     * that a revoked record stays revoked: an earlier claimant may take it over only to
     * revoke it (`revoking`), so no batch anchored by anyone can make `isRevoked` false
     * again, and a copy's revocation never keeps the real issuer from revoking its own.
     */
    function _documentClaim(bytes32 targetHash, AnchorRecord record, bool revoking)
        private
        view
        returns (uint32 agencyIndex, Status status, uint40 claimedAt)
    {
        agencyIndex = record.agencyIndex();
        claimedAt = record.anchoredAt();
        DocumentRecord state = _documents[targetHash];
        uint32 ownerIndex = state.agencyIndex();
        if (ownerIndex == 0) return (agencyIndex, Status.None, claimedAt);
        uint40 ownerClaimedAt = state.claimedAt();
        if (ownerIndex == agencyIndex) {
            if (ownerClaimedAt < claimedAt) claimedAt = ownerClaimedAt;
            return (agencyIndex, state.status(), claimedAt);
        }
        if (claimedAt >= ownerClaimedAt) {
            revert RegistryDocumentOwnedByOtherAgency(targetHash, _agencies[ownerIndex - 1].id);
        }
        if (!revoking && state.status() == Status.Revoked) revert RegistryAlreadyRevoked(targetHash);
        return (agencyIndex, Status.None, claimedAt);
    }

    /**
     * @dev Reverts unless the caller is a key of `agencyIndex` (an anchor's agency, never
     * 0, so the key exists) that may act now; returns the time it checked.
     */
    function _requireCanChange(uint32 agencyIndex) private view returns (uint40 now_) {
        KeyRecord key = _keys[msg.sender];
        if (key.agencyIndex() != agencyIndex) revert RegistryUnauthorized(msg.sender, _agencies[agencyIndex - 1].id);
        now_ = _time();
        _requireMayAct(key, now_);
    }

    /**
     * @dev Reverts unless `key` is registered and may act at `now_`, as {_requireMayAct}.
     */
    function _requireValidKey(KeyRecord key, uint40 now_) private view {
        if (key.keyIndex() == 0) revert RegistryUnknownKey(msg.sender);
        _requireMayAct(key, now_);
    }

    /**
     * @dev Reverts unless `key` is inside its window at `now_`, the registry is not
     * paused and its agency not frozen: in that order, so a key whose window ended is
     * told so even during a pause.
     */
    function _requireMayAct(KeyRecord key, uint40 now_) private view {
        if (now_ < key.validFrom() || now_ >= key.validUntil()) {
            revert RegistryKeyNotValid(msg.sender, key.validFrom(), key.validUntil(), now_);
        }
        _requireNotPaused();
        if (key.frozen()) revert RegistryAgencyFrozen(_agencies[key.agencyIndex() - 1].id);
    }

    /// @dev The index of `agencyId`, which must be registered.
    function _agencyIndexOf(bytes32 agencyId) private view returns (uint32 index) {
        index = _agencyIndexes[agencyId];
        if (index == 0) revert RegistryUnknownAgency(agencyId);
    }

    /// @dev Reverts unless the caller is the admin of agency `agencyIndex`, which is active unless `evenFrozen`.
    function _requireAgencyAdmin(uint32 agencyIndex, bool evenFrozen) private view {
        Agency storage record = _agencies[agencyIndex - 1];
        if (msg.sender != record.admin) revert RegistryNotAgencyAdmin(msg.sender, record.id);
        if (!evenFrozen && record.status != AgencyStatus.Active) revert RegistryAgencyFrozen(record.id);
    }

    /// @dev Reverts unless `account` may become an agency's admin: non-zero, no issuer key, no agency's admin yet.
    function _requireNewGovernor(address account) private view {
        if (account == address(0)) revert RegistryInvalidAdmin();
        if (_keys[account].keyIndex() != 0) revert RegistryGovernorCannotIssue(account);
        if (_adminAgencies[account] != 0) revert RegistryAdminAlreadyAssigned(account);
    }

    /// @dev Whether `account` governs: the council (or its pending successor), a guardian, or an agency's admin.
    function _isGovernor(address account) private view returns (bool) {
        (address pending,) = pendingDefaultAdmin();
        return account == defaultAdmin() || account == pending || hasRole(GUARDIAN_ROLE, account)
            || _adminAgencies[account] != 0;
    }

    /**
     * @dev Refuses a role for an issuer key: governing and issuing stay separate addresses.
     * Every grant passes here, the council's and the guardians'.
     */
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (_keys[account].keyIndex() != 0) revert RegistryGovernorCannotIssue(account);
        return super._grantRole(role, account);
    }

    /**
     * @dev Registers `version` of `typeId` for the agency `agencyIndex` (0: shared), whose id is `agencyId`,
     * once the caller's right to do so is checked.
     */
    function _registerType(bytes32 typeId, uint32 version, uint32 agencyIndex, bytes32 agencyId, bytes32 definitionHash)
        private
    {
        if (typeId == bytes32(0)) revert RegistryInvalidTypeId();
        if (definitionHash == bytes32(0)) revert RegistryInvalidTypeDefinition(typeId);
        TypeHead memory head = _typeHeads[typeId];
        if (head.versions != 0 && head.agencyIndex != agencyIndex) {
            bytes32 ownerId = head.agencyIndex == 0 ? bytes32(0) : _agencies[head.agencyIndex - 1].id;
            revert RegistryTypeOwnedByOther(typeId, ownerId);
        }
        if (version != head.versions + 1) revert RegistryInvalidTypeVersion(typeId, version, head.versions + 1);
        uint40 now_ = _time();
        _typeHeads[typeId] = TypeHead({agencyIndex: agencyIndex, versions: version});
        _typeVersions[typeId][version] = TypeVersion({definitionHash: definitionHash, registeredAt: now_});
        emit DocumentTypeRegistered(typeId, version, agencyId, definitionHash, now_);
    }

    /// @dev Reverts with {RegistryAlreadyRevoked} or {RegistryAlreadySuspended} unless `status` is active.
    function _requireActive(Status status, bytes32 hash) private pure {
        if (status > Status.Active) {
            if (status == Status.Revoked) revert RegistryAlreadyRevoked(hash);
            revert RegistryAlreadySuspended(hash);
        }
    }

    /// @dev A document's record stamped with the current time.
    function _documentRecord(uint32 agencyIndex, Status status, uint8 reason, uint40 claimedAt)
        private
        view
        returns (DocumentRecord)
    {
        return RecordPacking.packDocument(agencyIndex, status, reason, _time(), claimedAt);
    }
}
